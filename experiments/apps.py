from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        from abplatform.roles import role_permissions_sync

        post_migrate.connect(role_permissions_sync, sender=self, dispatch_uid="copylift-role-permissions")
