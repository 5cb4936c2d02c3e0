from django.core.management.base import BaseCommand, CommandError

from anomalies.models import ApiToken, User


class Command(BaseCommand):
    help = "Create an API token for a user and print its key, which is shown only this once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'detector'.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is inactive; their tokens would not authenticate.")
        token, key = ApiToken.objects.issue(user, name=name[:100])
        self.stdout.write(f"Created API token {token.prefix}… for {user.username}.")
        # Only the hash is stored: this is the one chance to copy the key.
        self.stdout.write(f"Key (shown only now): {key}")
        self.stdout.write(f"Send it as the header  Authorization: Token {key}")
