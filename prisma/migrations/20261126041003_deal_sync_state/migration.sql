-- AlterTable
ALTER TABLE "Deal" ADD COLUMN     "listIds" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "profileFingerprint" TEXT;

