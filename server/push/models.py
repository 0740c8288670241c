"""Push subscriptions (one per member and browser), topic choices and delivery records."""

from __future__ import annotations

from tortoise import fields, models

# The outbox channel queued notices wait on (and the prefix of their dedupe keys).
PUSH_CHANNEL = "push"


class PushSubscription(models.Model):
    """One browser on one device that receives push notices for a member."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Member", related_name="push_subscriptions", on_delete=fields.CASCADE, db_index=True
    )
    endpoint = fields.CharField(max_length=1000, unique=True)
    p256dh = fields.CharField(max_length=100)
    auth = fields.CharField(max_length=40)
    browser = fields.CharField(max_length=40, db_default="")
    os = fields.CharField(max_length=40, db_default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    last_delivered_at = fields.DatetimeField(null=True)
    failures = fields.IntField(db_default=0)
    last_error = fields.CharField(max_length=200, db_default="")

    class Meta:
        table = "push_subscription"


class PushPreference(models.Model):
    """Which notices a member wants by push, and whether mail stands in without a device."""

    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation = fields.OneToOneField(
        "core.Member", related_name="push_preference", on_delete=fields.CASCADE
    )
    new_statement = fields.BooleanField(db_default=True)
    coop_notices = fields.BooleanField(db_default=False)
    change_requests = fields.BooleanField(db_default=True)
    security_alerts = fields.BooleanField(db_default=True)
    mail_fallback = fields.BooleanField(db_default=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "push_preference"


class PushDelivery(models.Model):
    """A notice delivered to one device, recorded so that it is never sent there twice."""

    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[PushSubscription] = fields.ForeignKeyField(
        "push.PushSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    notice_key = fields.CharField(max_length=60)
    delivered_at = fields.DatetimeField()

    class Meta:
        table = "push_delivery"
        unique_together = (("subscription", "notice_key"),)
