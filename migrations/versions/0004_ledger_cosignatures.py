"""ledger cosignatures: witnesses' statements on checkpoints, append-only like the rest of the ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 08:04:56.870649
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types
from gateway.storage.append_only import append_only

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_cosignatures',
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('witness', sa.String(length=200), nullable=False),
    sa.Column('key_id', sa.String(length=8), nullable=False),
    sa.Column('institution_id', sa.String(length=63), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_ledger_cosignatures_institution_id_institutions')),
    sa.ForeignKeyConstraint(['size'], ['ledger_checkpoints.size'], name=op.f('fk_ledger_cosignatures_size_ledger_checkpoints')),
    sa.PrimaryKeyConstraint('size', 'witness', 'key_id', name=op.f('pk_ledger_cosignatures'))
    )


    for statement in append_only(op.get_bind().dialect.name, "ledger_cosignatures"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('ledger_cosignatures')
