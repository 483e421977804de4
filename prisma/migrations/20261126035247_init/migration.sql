-- CreateEnum
CREATE TYPE "AccountStatus" AS ENUM ('installed', 'needs_reauth', 'disconnected');

-- CreateEnum
CREATE TYPE "SyncStatus" AS ENUM ('ok', 'skipped', 'retrying', 'failed');

-- CreateEnum
CREATE TYPE "InboundSource" AS ENUM ('kommo_webhook', 'reconciliation', 'manual', 'backfill');

-- CreateEnum
CREATE TYPE "BackfillStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "Account" (
    "id" UUID NOT NULL,
    "kommoAccountId" INTEGER NOT NULL,
    "subdomain" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "name" TEXT,
    "currency" TEXT,
    "country" TEXT,
    "timezone" TEXT,
    "status" "AccountStatus" NOT NULL DEFAULT 'installed',
    "statusReason" TEXT,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "accessTokenEnc" TEXT,
    "refreshTokenEnc" TEXT,
    "accessTokenExpiresAt" TIMESTAMP(3),
    "hookKey" TEXT NOT NULL,
    "kommoWebhookId" INTEGER,
    "webhookRegisteredAt" TIMESTAMP(3),
    "klaviyoApiKeyEnc" TEXT,
    "klaviyoKeyHint" TEXT,
    "klaviyoAccountId" TEXT,
    "klaviyoAccountName" TEXT,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "installedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disconnectedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OAuthState" (
    "state" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OAuthState_pkey" PRIMARY KEY ("state")
);

-- CreateTable
CREATE TABLE "StageListMapping" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "pipelineId" INTEGER NOT NULL,
    "statusId" INTEGER NOT NULL,
    "listId" TEXT NOT NULL,

    CONSTRAINT "StageListMapping_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Deal" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "leadId" INTEGER NOT NULL,
    "pipelineId" INTEGER,
    "statusId" INTEGER,
    "stageName" TEXT,
    "mainContactId" INTEGER,
    "email" TEXT,
    "klaviyoProfileId" TEXT,
    "lastChangeAt" TIMESTAMP(3),
    "lastSyncedAt" TIMESTAMP(3),
    "lastSyncStatus" "SyncStatus",
    "lastError" TEXT,
    "closedAt" TIMESTAMP(3),
    "deletedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Deal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KlaviyoProfileLink" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "contactId" INTEGER NOT NULL,
    "email" TEXT NOT NULL,
    "klaviyoProfileId" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KlaviyoProfileLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InboundEvent" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "source" "InboundSource" NOT NULL,
    "kind" TEXT NOT NULL,
    "leadId" INTEGER,
    "contactId" INTEGER,
    "changedAt" TIMESTAMP(3),
    "payload" JSONB NOT NULL,
    "dedupeKey" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),

    CONSTRAINT "InboundEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SyncLog" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "leadId" INTEGER NOT NULL,
    "trigger" TEXT NOT NULL,
    "status" "SyncStatus" NOT NULL,
    "operations" JSONB NOT NULL DEFAULT '[]',
    "error" TEXT,
    "errorCode" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "jobId" TEXT,
    "kommoCalls" INTEGER NOT NULL DEFAULT 0,
    "klaviyoCalls" INTEGER NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "durationMs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SyncLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActivityCursor" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "metricId" TEXT NOT NULL,
    "metricName" TEXT NOT NULL,
    "cursor" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ActivityCursor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EmailActivity" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "klaviyoEventId" TEXT NOT NULL,
    "klaviyoProfileId" TEXT NOT NULL,
    "metricName" TEXT NOT NULL,
    "occurredAt" TIMESTAMP(3) NOT NULL,
    "subject" TEXT,
    "campaignOrFlow" TEXT,
    "notedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EmailActivity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BackfillRun" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "status" "BackfillStatus" NOT NULL DEFAULT 'queued',
    "scope" JSONB NOT NULL DEFAULT '{}',
    "cursor" JSONB,
    "total" INTEGER,
    "done" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BackfillRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RateLimitBucket" (
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "refilledAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RateLimitBucket_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "Account_kommoAccountId_key" ON "Account"("kommoAccountId");

-- CreateIndex
CREATE UNIQUE INDEX "Account_hookKey_key" ON "Account"("hookKey");

-- CreateIndex
CREATE UNIQUE INDEX "StageListMapping_accountId_pipelineId_statusId_key" ON "StageListMapping"("accountId", "pipelineId", "statusId");

-- CreateIndex
CREATE INDEX "Deal_accountId_mainContactId_idx" ON "Deal"("accountId", "mainContactId");

-- CreateIndex
CREATE INDEX "Deal_accountId_klaviyoProfileId_idx" ON "Deal"("accountId", "klaviyoProfileId");

-- CreateIndex
CREATE UNIQUE INDEX "Deal_accountId_leadId_key" ON "Deal"("accountId", "leadId");

-- CreateIndex
CREATE INDEX "KlaviyoProfileLink_accountId_klaviyoProfileId_idx" ON "KlaviyoProfileLink"("accountId", "klaviyoProfileId");

-- CreateIndex
CREATE UNIQUE INDEX "KlaviyoProfileLink_accountId_contactId_key" ON "KlaviyoProfileLink"("accountId", "contactId");

-- CreateIndex
CREATE INDEX "InboundEvent_accountId_leadId_processedAt_idx" ON "InboundEvent"("accountId", "leadId", "processedAt");

-- CreateIndex
CREATE UNIQUE INDEX "InboundEvent_accountId_dedupeKey_key" ON "InboundEvent"("accountId", "dedupeKey");

-- CreateIndex
CREATE INDEX "SyncLog_accountId_createdAt_id_idx" ON "SyncLog"("accountId", "createdAt" DESC, "id");

-- CreateIndex
CREATE INDEX "SyncLog_accountId_leadId_createdAt_idx" ON "SyncLog"("accountId", "leadId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "SyncLog_accountId_status_createdAt_idx" ON "SyncLog"("accountId", "status", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "SyncLog_createdAt_idx" ON "SyncLog"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ActivityCursor_accountId_metricId_key" ON "ActivityCursor"("accountId", "metricId");

-- CreateIndex
CREATE INDEX "EmailActivity_accountId_klaviyoProfileId_occurredAt_idx" ON "EmailActivity"("accountId", "klaviyoProfileId", "occurredAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "EmailActivity_accountId_klaviyoEventId_key" ON "EmailActivity"("accountId", "klaviyoEventId");

-- CreateIndex
CREATE INDEX "BackfillRun_accountId_createdAt_idx" ON "BackfillRun"("accountId", "createdAt" DESC);

-- AddForeignKey
ALTER TABLE "StageListMapping" ADD CONSTRAINT "StageListMapping_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deal" ADD CONSTRAINT "Deal_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KlaviyoProfileLink" ADD CONSTRAINT "KlaviyoProfileLink_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InboundEvent" ADD CONSTRAINT "InboundEvent_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SyncLog" ADD CONSTRAINT "SyncLog_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ActivityCursor" ADD CONSTRAINT "ActivityCursor_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EmailActivity" ADD CONSTRAINT "EmailActivity_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackfillRun" ADD CONSTRAINT "BackfillRun_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Invariants Prisma's schema language cannot express, kept in the database, where no writer can bypass them.
ALTER TABLE "Account" ADD CONSTRAINT "Account_hookKey_length" CHECK (length("hookKey") >= 32);
ALTER TABLE "Account" ADD CONSTRAINT "Account_tokens_together" CHECK (("accessTokenEnc" IS NULL) = ("refreshTokenEnc" IS NULL));
ALTER TABLE "BackfillRun" ADD CONSTRAINT "BackfillRun_counts_valid" CHECK ("done" >= 0 AND "errors" >= 0 AND ("total" IS NULL OR "total" >= 0));
ALTER TABLE "SyncLog" ADD CONSTRAINT "SyncLog_attempt_positive" CHECK ("attempt" >= 1);

