"""``python -m marketplace``: migrate, seed when empty, print the demo logins and serve.

The one-command start on the embedded default (SQLite under ``instance/``). Production runs
gunicorn instead (see the README).
"""

from __future__ import annotations

import argparse

from flask_migrate import upgrade

from . import create_app
from .extensions import db


def prepare(app, demo: bool | None = None) -> dict[str, str]:
    """Bring the schema up to date, load reference data and, into an empty database, the demo.

    ``demo=None`` loads the demo only on the embedded SQLite default: demo logins with a
    published password must never appear on a production database by accident.
    """
    from .demo import build_demo
    from .services import search
    from .services.demo import database_is_empty, load_demo
    from .services.matching import get_recommender
    from .services.refdata import seed_reference_data

    with app.app_context():
        upgrade()
        seed_reference_data()
        if demo is None:
            demo = db.engine.url.get_backend_name() == "sqlite"
        logins = load_demo(build_demo()) if demo and database_is_empty() else {}
        db.session.commit()
        if logins or search.index_is_empty():
            search.rebuild()
        else:
            search.drain_all()
        get_recommender().matcher()  # load the saved recommender, or fit and save one
    return logins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=None,
                        help="load demo data into an empty database (default: only on SQLite)")
    args = parser.parse_args()
    app = create_app({"EMAIL_LOG_LINKS": True})  # the developer's own console
    prepare(app, demo=args.demo)
    from .services.demo import DEMO_LOGINS, DEMO_PASSWORD

    print(f"\n  智改数转 marketplace: http://{args.host}:{args.port}/")
    print(f"  database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    print(f"  demo logins (password {DEMO_PASSWORD}):")
    for email, role in DEMO_LOGINS.items():
        print(f"    {role:15} {email}")
    print()
    app.run(host=args.host, port=args.port, debug=False)


if __name__ == "__main__":
    main()
