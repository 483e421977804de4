-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "dpTokenEnc" TEXT;

-- CreateTable
CREATE TABLE "DigitalPipelineAction" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "leadId" INTEGER NOT NULL,
    "statusId" INTEGER,
    "pipelineId" INTEGER,
    "eventType" INTEGER NOT NULL,
    "eventTime" TIMESTAMPTZ(3) NOT NULL,
    "eventName" TEXT NOT NULL,
    "listId" TEXT,
    "dedupeKey" TEXT NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "eventSentAt" TIMESTAMPTZ(3),
    "notedAt" TIMESTAMPTZ(3),
    "processedAt" TIMESTAMPTZ(3),

    CONSTRAINT "DigitalPipelineAction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DigitalPipelineAction_accountId_leadId_idx" ON "DigitalPipelineAction"("accountId", "leadId");

-- CreateIndex
CREATE UNIQUE INDEX "DigitalPipelineAction_accountId_dedupeKey_key" ON "DigitalPipelineAction"("accountId", "dedupeKey");

-- AddForeignKey
ALTER TABLE "DigitalPipelineAction" ADD CONSTRAINT "DigitalPipelineAction_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
