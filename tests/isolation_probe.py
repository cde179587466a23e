"""Two tests run in this order, in their own pytest process, by tests/test_isolation.py (the
file name keeps them out of the normal collection): the first renames reference rows through
the admin page and the service, the second must still find them as seeded."""

from marketplace.extensions import db
from marketplace.models import Industry, Region, Role
from tests.conftest import SEEDED_REFERENCE, _reference_rows


def test_an_admin_renames_reference_rows(client, auth, make_user, ctx):
    auth.login(make_user(Role.ADMIN))
    response = client.post("/admin/reference/industries/C34",
                           data={"name": "改过的名字", "name_en": "Renamed"})
    assert response.status_code == 302
    db.session.get(Region, 1).name = "改过的地区"
    db.session.commit()
    assert db.session.scalar(db.select(Industry.name).where(Industry.code == "C34")) == "改过的名字"


def test_the_next_test_sees_the_seeded_rows(ctx, database_url):
    industry = db.session.scalar(db.select(Industry).where(Industry.code == "C34"))
    assert industry.name == "通用设备制造业"
    assert db.session.get(Region, 1).name != "改过的地区"
    assert _reference_rows() == SEEDED_REFERENCE[database_url]  # every row, every column
