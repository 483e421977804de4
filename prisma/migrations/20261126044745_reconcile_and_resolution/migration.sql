-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "activityPolledAt" TIMESTAMP(3),
ADD COLUMN     "reconciledUntil" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "SyncLog" ADD COLUMN     "resolution" TEXT,
ADD COLUMN     "resolvedAt" TIMESTAMP(3);
