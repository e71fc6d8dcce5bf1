"""registry_versions: the registry in force, each version applied (with the CRLs and the gateway's
published keys of that moment), so that every process serves the same one and the key history is
read from it; ledger entries' `detail` becomes text, for the changes a `registry_changed` entry lists.

On SQLite the column is changed by rebuilding the table, its append-only triggers dropped for the
copy and made again; on PostgreSQL VARCHAR to TEXT rewrites nothing and fires no trigger.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types
from gateway.storage.append_only import append_only

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('registry_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('crl', sa.Text(), nullable=False),
    sa.Column('gateway_keys', sa.Text(), nullable=False),
    sa.Column('applied_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_registry_versions'))
    )
    _ledger_detail_as_text()


def downgrade() -> None:
    # `detail` stays text: the ledger is append-only, and an entry's detail may be longer than 40 now.
    op.drop_table('registry_versions')


def _ledger_detail_as_text() -> None:
    dialect, old = op.get_bind().dialect.name, sa.String(length=40)
    if dialect != 'sqlite':
        op.alter_column('ledger_entries', 'detail', existing_type=old, type_=sa.Text(), existing_nullable=True)
        return
    for action in ('update', 'delete'):
        op.execute(f'DROP TRIGGER ledger_entries_no_{action}')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.alter_column('detail', existing_type=old, type_=sa.Text(), existing_nullable=True)
    for statement in append_only(dialect, 'ledger_entries'):
        op.execute(statement)
