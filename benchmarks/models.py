"""The baseline of the API benchmark: a flat ticket table with no workflow, no joins, no timeline."""

from django.db import models
from django.utils import timezone


class FlatTicket(models.Model):
    shop_code = models.CharField(max_length=64)
    number = models.CharField(max_length=32)
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=32)
    order_number = models.CharField(max_length=64)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop_code", "-created_at", "-id"], name="flat_ticket_list_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.state}"
