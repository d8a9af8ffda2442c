"""Demo data for the embedded store (``idms demo``): a realistic association made with Faker.

Every demo user has the password ``Demo-Password-1`` (:data:`DEMO_PASSWORD`).
"""

from idms.demo.generate import DEMO_PASSWORD, MAX_USERS, DemoSummary, fill_demo

__all__ = ["DEMO_PASSWORD", "MAX_USERS", "DemoSummary", "fill_demo"]
