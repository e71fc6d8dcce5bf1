"""operations: the indexes that keep /metrics' figures cheap however long the history grows: the
inbox events not yet acknowledged (a partial index: acknowledged events, nearly all of them, are
not in it) and the cases by status and deadline (the overdue count, and the reminders' search,
read the few cases still waiting for a reply, not every case ever opened).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNACKNOWLEDGED = sa.text('delivered_at IS NULL')


def upgrade() -> None:
    op.create_index('ix_inbox_events_unacknowledged', 'inbox_events', ['recipient_id', 'recipient_unit'], unique=False,
                    sqlite_where=UNACKNOWLEDGED, postgresql_where=UNACKNOWLEDGED)
    op.create_index('ix_cases_status_deadline', 'cases', ['status', 'deadline'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_status_deadline', table_name='cases')
    op.drop_index('ix_inbox_events_unacknowledged', table_name='inbox_events')
