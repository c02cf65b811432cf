"""Issue a one-time enrolment code for a console user whose authenticator was removed.

    python manage.py issue_enrolment_code alice

For the operator when no superuser can sign in (the last superuser lost their phone); otherwise a
superuser issues it on the user's console page. The code is printed once and valid for 24 hours.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from console.services import enrolment_code_issue


class Command(BaseCommand):
    help = "Issue a one-time code (valid 24 hours) that lets a console user enrol a new authenticator."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no console user {username!r}")
        code = enrolment_code_issue(actor=operator_actor(), user=user)
        self.stdout.write(f"Enrolment code for {username}: {code}")
        self.stdout.write("Valid once, for 24 hours. It is not shown again; issuing another cancels this one.")
