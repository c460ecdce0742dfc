from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "purchases"

    def ready(self) -> None:
        # Each of these services declares the order action it performs (``@ACTION.effect``), so
        # ``OrderAction.execute`` can run it from anywhere once the apps are loaded.
        from purchases.services import draft_run, failures, payments, refunds, review  # noqa: F401
