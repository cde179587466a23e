"""``python -m marketplace``: migrate, seed when empty, print the demo logins and serve.

The one-command start on the embedded default (SQLite under ``instance/``). Production runs
gunicorn instead (see the README).
"""

from __future__ import annotations

import argparse

from flask_migrate import upgrade

from . import create_app
from .extensions import db


def prepare(app) -> dict[str, str]:
    """Bring the schema up to date and load reference and demo data into an empty database."""
    from .demo import build_demo
    from .services import search
    from .services.demo import database_is_empty, load_demo
    from .services.matching import get_recommender
    from .services.refdata import seed_reference_data

    with app.app_context():
        upgrade()
        seed_reference_data()
        logins = load_demo(build_demo()) if database_is_empty() else {}
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
    args = parser.parse_args()
    app = create_app()
    prepare(app)
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
