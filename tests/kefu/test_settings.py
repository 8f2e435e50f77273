"""docs/operations.md lists exactly the environment variables kefu/settings/ reads."""

import re

from django.conf import settings

# env("NAME", ...), env.str("NAME", ...), env.db("NAME", ...): every way the settings read a variable.
ENV_READ = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
# A row of a settings table: | `NAME` | default | meaning |
DOC_ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|", re.MULTILINE)


def test_docs_operations_lists_every_environment_variable_the_settings_read() -> None:
    read = set(ENV_READ.findall("".join(p.read_text() for p in (settings.BASE_DIR / "kefu" / "settings").glob("*.py"))))
    documented = set(DOC_ROW.findall((settings.BASE_DIR / "docs" / "operations.md").read_text()))

    assert {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY"} <= read  # the pattern still matches
    assert read - documented == set(), "read by kefu/settings/ but missing from docs/operations.md"
    assert documented - read == set(), "in docs/operations.md but no longer read by kefu/settings/"
