"""Indexes for home's 新着: a member's answered inquiries and finished change requests.

Every signed-in home view asks for both by member and time; without these the
inquiry table was scanned whole and change requests through their state alone.
A plain CREATE INDEX on both databases (AddIndex rebuilds no table).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_audit_staff_id_index'), ('requests', '0002_inquiry_notes_assignment')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ChangeRequest',
            index=Index(fields=['member_id', 'updated_at']),
        ),
        ops.AddIndex(
            model_name='Inquiry',
            index=Index(fields=['member_id', 'answered_at']),
        ),
    ]
