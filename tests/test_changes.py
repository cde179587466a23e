"""Every change to a package or need lands in the change log in the same transaction."""

from marketplace.extensions import db
from marketplace.models import Change, Package, Provider


def _logged(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [(c.kind, c.object_id) for c in db.session.scalars(db.select(Change))]


def test_package_need_and_provider_changes_are_logged(app, make_provider, make_package,
                                                      make_enterprise, make_need):
    provider = make_provider()
    first = make_package(provider.id)
    second = make_package(provider.id, title="第二个")
    need = make_need(make_enterprise().id)
    assert sorted(_logged(app)) == sorted([("package", first), ("package", second),
                                           ("need", need)])
    with app.app_context():
        db.session.execute(db.delete(Change))
        db.session.get(Provider, provider.id).standing = "eliminated"
        db.session.commit()
    assert sorted(_logged(app)) == [("package", first), ("package", second)]


def test_rolled_back_changes_leave_no_log(app, make_provider, make_package):
    package_id = make_package(make_provider().id)
    with app.app_context():
        db.session.execute(db.delete(Change))
        db.session.commit()
        db.session.get(Package, package_id).title = "改了又撤回"
        db.session.flush()
        db.session.rollback()
    assert _logged(app) == []
