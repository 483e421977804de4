-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "klaviyoWebhookId" TEXT,
ADD COLUMN     "kommoSettingsReadAt" TIMESTAMPTZ(3),
ADD COLUMN     "language" TEXT;

-- CreateTable
CREATE TABLE "ProfileActivityRead" (
    "accountId" UUID NOT NULL,
    "klaviyoProfileId" TEXT NOT NULL,
    "claimedAt" TIMESTAMPTZ(3) NOT NULL,
    "readAt" TIMESTAMPTZ(3),

    CONSTRAINT "ProfileActivityRead_pkey" PRIMARY KEY ("accountId","klaviyoProfileId")
);

-- AddForeignKey
ALTER TABLE "ProfileActivityRead" ADD CONSTRAINT "ProfileActivityRead_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
