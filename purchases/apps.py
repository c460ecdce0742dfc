from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "purchases"

    def ready(self) -> None:
        # Each of these services declares the order action it performs (``@ACTION.effect``), so
        # ``OrderAction.execute`` can run it from anywhere once the apps are loaded.
        from articles.services import set_protected_links_provider
        from purchases.services import (  # noqa: F401
            approval,
            draft_run,
            failures,
            paid_links,
            payments,
            refunds,
            review,
            schedule,
        )

        # Which links the article guard keeps is the orders' record, not the text (articles
        # cannot import orders, so it is told here).
        set_protected_links_provider(paid_links.article_paid_links)
