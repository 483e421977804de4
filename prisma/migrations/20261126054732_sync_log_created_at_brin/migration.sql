-- DropIndex
DROP INDEX "SyncLog_createdAt_idx";

-- CreateIndex
CREATE INDEX "SyncLog_createdAt_idx" ON "SyncLog" USING BRIN ("createdAt");
