"""Uploaded core-system CSV files and what their dry run and apply found."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models

# The outbox channel an upload's apply waits on for the worker.
IMPORTS_CHANNEL = "imports"


class UploadState(StrEnum):
    """Where an upload stands: checked or refused, then queued, applying, applied or failed."""

    CHECKED = "checked"
    REJECTED = "rejected"
    QUEUED = "queued"
    APPLYING = "applying"
    APPLIED = "applied"
    # The apply stopped on something other than the file (nothing was written).
    FAILED = "failed"


class ImportUpload(models.Model):
    """One CSV file uploaded by staff, kept until it is applied or expires."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=20)
    filename = fields.CharField(max_length=255)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    data = fields.BinaryField(null=True)
    state = fields.CharEnumField(UploadState, max_length=10, db_index=True)
    encoding = fields.CharField(max_length=40, db_default="")
    rows = fields.IntField(db_default=0)
    counts: dict | None = fields.JSONField(null=True)
    problems: list | None = fields.JSONField(null=True)
    problem_total = fields.IntField(db_default=0)
    uploaded_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "staff.StaffUser", related_name="import_uploads", on_delete=fields.RESTRICT
    )
    uploaded_by_id: int
    uploaded_at = fields.DatetimeField(db_index=True)
    apply_started_at = fields.DatetimeField(null=True)
    applied_at = fields.DatetimeField(null=True)
    applied_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "staff.StaffUser",
        related_name="import_applies",
        on_delete=fields.RESTRICT,
        null=True,
    )
    applied_by_id: int | None
    applied_counts: dict | None = fields.JSONField(null=True)
    # Portal-recorded facts the file would revert: conflicts and changes still
    # waiting for the core system (dry run; after apply, what was kept or overwritten).
    kept: list | None = fields.JSONField(null=True)
    # While the worker applies it: what it is doing, and rows done of the total.
    progress_message = fields.CharField(max_length=200, db_default="")
    progress_done = fields.IntField(db_default=0)
    progress_total = fields.IntField(db_default=0)
    # Why a failed apply failed, in Japanese for the staff page.
    failure = fields.CharField(max_length=500, db_default="")

    class Meta:
        table = "staff_import_upload"
