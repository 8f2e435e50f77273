"""The refund lifecycle (issue 14): requested → submitted → succeeded / failed, with who paid and who confirmed.

Existing rows: "pending" becomes "requested" (not yet given to a payer). A refund already succeeded was paid
either by a marketplace (its reference is "<platform>:<id>") or recorded as a manual refund ("MANUAL-<key>"):
its payer is taken from the reference, and its confirmation time is when it completed.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



def backfill_lifecycle(apps, schema_editor):
    Refund = apps.get_model("tickets", "Refund")
    Refund.objects.filter(status="pending").update(status="requested")
    for refund in Refund.objects.filter(status="succeeded").iterator():
        head, colon, _rest = refund.reference.partition(":")
        refund.payer = head[:32] if colon and head else "manual"
        done = refund.completed_at or refund.created_at
        refund.submitted_at = refund.submitted_at or refund.created_at
        refund.paid_at = refund.paid_at or done
        refund.confirmed_at = refund.confirmed_at or done
        refund.save(update_fields=["payer", "submitted_at", "paid_at", "confirmed_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0014_return_counter_offer_and_evidence'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='refund',
            options={'permissions': [('pay_refund', 'Can record the payout of a refund (finance)')], 'verbose_name': 'refund', 'verbose_name_plural': 'refunds'},
        ),
        migrations.RenameField(model_name='refund', old_name='gateway_reference', new_name='reference'),
        migrations.AlterField(
            model_name='refund',
            name='reference',
            field=models.CharField(blank=True, max_length=128, verbose_name="payer's reference"),
        ),
        migrations.AddField(
            model_name='refund',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='confirmed at'),
        ),
        migrations.AddField(
            model_name='refund',
            name='confirmed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='confirmed by'),
        ),
        migrations.AddField(
            model_name='refund',
            name='message',
            field=models.TextField(blank=True, verbose_name="payer's message"),
        ),
        migrations.AddField(
            model_name='refund',
            name='overdue_escalated_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='escalated as overdue at'),
        ),
        migrations.AddField(
            model_name='refund',
            name='paid_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='paid at'),
        ),
        migrations.AddField(
            model_name='refund',
            name='payer',
            field=models.CharField(blank=True, max_length=32, verbose_name='payer'),
        ),
        migrations.AddField(
            model_name='refund',
            name='payout_channel',
            field=models.CharField(blank=True, choices=[('bank_transfer', 'Bank transfer'), ('alipay_account', 'Alipay account'), ('wechat', 'WeChat'), ('cash', 'Cash'), ('other', 'Other')], max_length=16, verbose_name='payout channel'),
        ),
        migrations.AddField(
            model_name='refund',
            name='submitted_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='submitted at'),
        ),
        migrations.AlterField(
            model_name='refund',
            name='status',
            field=models.CharField(choices=[('requested', 'Requested'), ('submitted', 'Submitted, being paid'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='requested', max_length=16, verbose_name='status'),
        ),
        migrations.RunPython(backfill_lifecycle, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='refund',
            index=models.Index(fields=['status', 'payer', 'submitted_at'], name='refund_status_payer_idx'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'succeeded'), _negated=True), models.Q(('payer__gt', ''), ('confirmed_at__isnull', False)), _connector='OR'), name='refund_succeeded_confirmed'),
        ),
    ]
