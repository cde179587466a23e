"""Each role's dashboard counts only what lies in its scope."""

import pytest

from marketplace.extensions import db
from marketplace.models import User
from marketplace.services import overview


@pytest.mark.parametrize(("region_code", "enterprises", "needs"),
                         [("320505", 1, 2), ("320500", 2, 3), ("320000", 3, 4), ("320102", 1, 1)])
def test_gov_overview_is_scoped(app, make_user, make_enterprise, make_need, region_code,
                                enterprises, needs):
    huqiu = make_enterprise(county="320505", name="虎丘企业").id
    wuzhong = make_enterprise(county="320506", name="吴中企业").id
    xuanwu = make_enterprise(county="320102", name="玄武企业").id
    make_enterprise(county="320505", name="链主集团", is_chain_leader=True)
    for enterprise in (huqiu, huqiu, wuzhong, xuanwu):
        make_need(enterprise)
    official = make_user(role="gov", region_code=region_code)
    with app.app_context():
        data = overview.gov_overview(db.session.get(User, official.id))
    assert (data["enterprises"], data["needs"]) == (enterprises, needs)
