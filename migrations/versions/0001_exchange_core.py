"""exchange core

Revision ID: 0001
Revises:
Create Date: 2026-11-24 06:46:57.468561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('institutions',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions'))
    )
    op.create_table('sequences',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sequences'))
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('mediator_id', sa.String(length=63), nullable=False),
    sa.Column('respondent_id', sa.String(length=63), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('complainant', sa.JSON(), nullable=False),
    sa.Column('project_name', sa.String(length=200), nullable=False),
    sa.Column('project_city', sa.String(length=100), nullable=False),
    sa.Column('project_region', sa.String(length=100), nullable=False),
    sa.Column('requested_action', sa.Text(), nullable=False),
    sa.Column('deadline', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('opened_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mediator_id'], ['institutions.id'], name=op.f('fk_cases_mediator_id_institutions')),
    sa.ForeignKeyConstraint(['respondent_id'], ['institutions.id'], name=op.f('fk_cases_respondent_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('mediator_id', 'reference', name='uq_cases_mediator_reference')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_mediator_opened', ['mediator_id', 'opened_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_respondent_opened', ['respondent_id', 'opened_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_updated_at'), ['updated_at'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('institution_id', sa.String(length=63), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('lease_until', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_idempotency_records_institution_id_institutions')),
    sa.PrimaryKeyConstraint('institution_id', 'key', name=op.f('pk_idempotency_records'))
    )
    op.create_table('institution_certificates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('institution_id', sa.String(length=63), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_institution_certificates_institution_id_institutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution_certificates')),
    sa.UniqueConstraint('sha256', name=op.f('uq_institution_certificates_sha256')),
    sa.UniqueConstraint('subject', name=op.f('uq_institution_certificates_subject'))
    )
    with op.batch_alter_table('institution_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_certificates_institution_id'), ['institution_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('sender_id', sa.String(length=63), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('new_deadline', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_before', sa.String(length=30), nullable=False),
    sa.Column('status_after', sa.String(length=30), nullable=False),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_messages_case_id_cases')),
    sa.ForeignKeyConstraint(['sender_id'], ['institutions.id'], name=op.f('fk_messages_sender_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('case_id', 'position', name='uq_messages_case_position')
    )
    op.create_table('inbox_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('recipient_id', sa.String(length=63), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', gateway.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_inbox_events_case_id_cases')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_inbox_events_message_id_messages')),
    sa.ForeignKeyConstraint(['recipient_id'], ['institutions.id'], name=op.f('fk_inbox_events_recipient_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_events')),
    sa.UniqueConstraint('recipient_id', 'seq', name='uq_inbox_recipient_seq')
    )


def downgrade() -> None:
    op.drop_table('inbox_events')
    op.drop_table('messages')
    with op.batch_alter_table('institution_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_certificates_institution_id'))

    op.drop_table('institution_certificates')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_updated_at'))
        batch_op.drop_index('ix_cases_respondent_opened')
        batch_op.drop_index('ix_cases_mediator_opened')

    op.drop_table('cases')
    op.drop_table('sequences')
    op.drop_table('institutions')
