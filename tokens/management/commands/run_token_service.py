from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tokens.network.simulator import SimulatorConfig, make_server


class Command(BaseCommand):
    # The simulator serves none of the vault's URLs or models: no need to check them at start.
    requires_system_checks: list = []
    help = (
        "Run the token-service simulator: a stand-in for a card network's token service, speaking the "
        "protocol in tokens/network/protocol.py. For tests and local development only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8089)
        parser.add_argument("--state", default="token_service.sqlite3", help="SQLite file holding the tokens")
        parser.add_argument("--api-key", default=None, help="bearer key clients must send (default VAULT_NT_API_KEY)")
        parser.add_argument("--webhook-url", default=None, help="the vault's webhook, for lifecycle events")
        parser.add_argument("--webhook-secret", default=None, help="shared secret (default VAULT_NT_WEBHOOK_SECRET)")
        parser.add_argument("--fail-rate", type=float, default=0.0, help="share of answers that are 503")
        parser.add_argument("--latency-ms", type=int, default=0, help="delay before every answer")
        parser.add_argument("--malformed", action="store_true", help="answer with bodies that are not JSON")
        parser.add_argument("--seed", type=int, default=None, help="seed for the failure rate")

    def handle(self, *args, **options) -> None:
        api_key = options["api_key"] or settings.VAULT_NT_API_KEY
        if not api_key:
            raise CommandError("set --api-key or VAULT_NT_API_KEY")
        config = SimulatorConfig(
            api_key=api_key,
            fail_rate=options["fail_rate"],
            latency_ms=options["latency_ms"],
            malformed=options["malformed"],
            seed=options["seed"],
            webhook_url=options["webhook_url"],
            webhook_secret=options["webhook_secret"] or settings.VAULT_NT_WEBHOOK_SECRET or None,
        )
        server = make_server(host=options["host"], port=options["port"], state_path=options["state"], config=config)
        self.stdout.write(
            f"token service simulator on http://{options['host']}:{server.server_address[1]}", ending="\n"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
