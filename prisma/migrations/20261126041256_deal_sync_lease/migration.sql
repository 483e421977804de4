-- AlterTable
ALTER TABLE "Deal" ADD COLUMN     "syncLeaseOwner" TEXT,
ADD COLUMN     "syncLeaseUntil" TIMESTAMP(3);
