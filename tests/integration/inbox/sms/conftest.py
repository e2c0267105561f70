from __future__ import annotations

import pytest

from app.auth.models import UserRole

CUSTOMER = "+12145550143"  # the samples' customer
OUR_NUMBER = "+12145550188"  # the samples' gateway phone


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


@pytest.fixture
def gateway(rep, db_session):
    from app.inbox.sms.services import save_gateway

    made = save_gateway(None, user_id=rep.id, label="Jordan's Pixel", gateway_url="http://127.0.0.1:9/3rdparty/v1",
                        username="jordan", password="s3cret-gateway-pass", from_number=OUR_NUMBER, is_active=True)
    db_session.commit()  # a view's rollback must not take the test's rows with it
    return made


@pytest.fixture
def lead(factory, db_session):
    company = factory.company()
    contact = factory.contact(company, phone="(214) 555-0143", phone_e164=CUSTOMER, phone_type="mobile",
                              is_sms_eligible=True)
    made = factory.lead(company, contact)
    db_session.commit()
    return made
