-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "klaviyoKeySetAt" TIMESTAMPTZ(3);
