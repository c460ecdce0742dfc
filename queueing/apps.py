from django.apps import AppConfig


class QueueingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "queueing"

    def ready(self) -> None:
        from blogorder.logs import log_context_source
        from queueing.runtime import job_log_context

        # Every line a job logs (in a worker) carries its job id, id arguments and request id.
        log_context_source(job_log_context)
