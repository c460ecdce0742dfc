"""Stripe. With no STRIPE_SECRET_KEY the local, plainly labelled test-payment page replaces Checkout."""

from django.core.exceptions import ImproperlyConfigured

from blogorder.settings.env import env

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
# Local test mode signs its simulated events with this secret when none is configured. It is public
# (it is in this file), so with a real key set it is refused at start-up: anyone could sign events.
LOCAL_TEST_WEBHOOK_SECRET = "whsec_local_test_mode_only"
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", LOCAL_TEST_WEBHOOK_SECRET)
if STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET == LOCAL_TEST_WEBHOOK_SECRET:
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is unset or the public local test-mode secret: "
        "set STRIPE_WEBHOOK_SECRET to the whsec_… secret of your Stripe webhook endpoint."
    )
STRIPE_API_BASE = env.str("STRIPE_API_BASE")
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", "2026-10-28.endive")
# purchases.gateways.payment_gateway() reads this once: the simulated Stripe when True, else Stripe.
STRIPE_LOCAL_TEST_MODE = not STRIPE_SECRET_KEY

# A final failure of a paid order (quality checks or the job's retries) refunds it through Stripe.
AUTO_REFUND_ON_FAILURE = env.bool("AUTO_REFUND_ON_FAILURE", True)
# A checkout completed with a payment still clearing (bank debit, transfer) keeps its slot this long,
# but only with ASYNC_PAYMENT_HOLDS_SLOT on. Off (the default), such an order holds its slot until the
# checkout expiry like any unpaid one; when the money arrives later the order still goes ahead.
ASYNC_PAYMENT_HOLDS_SLOT = env.bool("ASYNC_PAYMENT_HOLDS_SLOT", False)
ASYNC_PAYMENT_HOLD_DAYS = env.int("ASYNC_PAYMENT_HOLD_DAYS", 14)
