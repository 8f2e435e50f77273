"""Evidence stored under the uploader's file name (before random names were given) moves to a random name.

Only rows whose stored name is not already ``<32 hex digits>.<ext>`` are touched: the file is copied within the
storage (``STORAGES["default"]``, local disk or a bucket) to ``evidence/<yyyy>/<mm>/<ticket>/<random>.<ext>``, the
row points to the copy, then the old file is deleted. A row whose file is missing is left as it is (the scoped
views answer 404 for it). The original name stays in ``original_name``, which downloads are offered under.
Reversing keeps the random names (nothing to undo: both names were valid).
"""

import re
import uuid

from django.core.files.storage import default_storage
from django.db import migrations
from django.utils import timezone

RANDOM = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")
EXTENSION = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}


def rename(apps, schema_editor):
    Attachment = apps.get_model("tickets", "Attachment")
    for attachment in Attachment.objects.exclude(file="").iterator():
        old = attachment.file.name
        if RANDOM.match(old.rsplit("/", 1)[-1]) or not default_storage.exists(old):
            continue
        now = timezone.now()
        wanted = f"evidence/{now:%Y/%m}/{attachment.ticket_id}/{uuid.uuid4().hex}{EXTENSION.get(attachment.content_type, '')}"
        with default_storage.open(old, "rb") as source:
            new = default_storage.save(wanted, source)
        Attachment.objects.filter(pk=attachment.pk).update(file=new)
        default_storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_redundant_indexes")]

    operations = [migrations.RunPython(rename, migrations.RunPython.noop, elidable=True)]
