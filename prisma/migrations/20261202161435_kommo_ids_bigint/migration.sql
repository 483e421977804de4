-- Kommo's ids become bigint: Kommo documents no 32-bit bound, and an id above 2^31 - 1 could not
-- be stored ("value out of range for type integer"). integer -> bigint keeps every value. Each table
-- is rewritten once, and its indexes (unique keys and the primary key included) are rebuilt with it.

-- AlterTable
ALTER TABLE "Account" ALTER COLUMN "kommoAccountId" SET DATA TYPE BIGINT,
ALTER COLUMN "kommoWebhookId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "StageListMapping" ALTER COLUMN "pipelineId" SET DATA TYPE BIGINT,
ALTER COLUMN "statusId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "Deal" ALTER COLUMN "leadId" SET DATA TYPE BIGINT,
ALTER COLUMN "pipelineId" SET DATA TYPE BIGINT,
ALTER COLUMN "statusId" SET DATA TYPE BIGINT,
ALTER COLUMN "mainContactId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "KlaviyoProfileLink" ALTER COLUMN "contactId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "InboundEvent" ALTER COLUMN "leadId" SET DATA TYPE BIGINT,
ALTER COLUMN "contactId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "SyncLog" ALTER COLUMN "leadId" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "KommoContactCache" ALTER COLUMN "contactId" SET DATA TYPE BIGINT;
