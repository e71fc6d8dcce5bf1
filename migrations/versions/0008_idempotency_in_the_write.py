"""idempotency in the write's transaction: a key's record is inserted and answered in the same
transaction as the work, so the lease that let a slow request's key be taken over is gone. Records
a crash left unanswered (an old in-flight claim) are deleted: their work never committed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_records WHERE status_code IS NULL")
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_column('lease_until')


def downgrade() -> None:
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', gateway.storage.types.UTCDateTime(timezone=True), nullable=True))
