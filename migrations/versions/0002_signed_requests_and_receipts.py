"""signed requests and receipts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:17:23.226720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('request_nonces',
    sa.Column('institution_id', sa.String(length=63), nullable=False),
    sa.Column('jti', sa.String(length=128), nullable=False),
    sa.Column('expires_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_request_nonces_institution_id_institutions')),
    sa.PrimaryKeyConstraint('institution_id', 'jti', name=op.f('pk_request_nonces'))
    )
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('resource', sa.String(length=300), nullable=False),
    sa.Column('sender_id', sa.String(length=63), nullable=False),
    sa.Column('counterpart_id', sa.String(length=63), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_receipts_case_id_cases')),
    sa.ForeignKeyConstraint(['counterpart_id'], ['institutions.id'], name=op.f('fk_receipts_counterpart_id_institutions')),
    sa.ForeignKeyConstraint(['sender_id'], ['institutions.id'], name=op.f('fk_receipts_sender_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index('ix_receipts_resource', ['resource'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signed_body', sa.Text(), nullable=True))

    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_signature', sa.Text(), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signed_body', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('signed_body')
        batch_op.drop_column('signature')

    with op.batch_alter_table('inbox_events', schema=None) as batch_op:
        batch_op.drop_column('delivery_signature')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('signed_body')
        batch_op.drop_column('signature')

    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_receipts_resource')

    op.drop_table('receipts')
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_nonces_expires_at'))

    op.drop_table('request_nonces')
