from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data"

    def ready(self) -> None:
        from cs_platform import banner
        from demo.people import demo_logins

        banner.register(demo_logins)
