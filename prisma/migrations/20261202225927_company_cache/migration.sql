-- CreateTable
CREATE TABLE "KommoCompanyCache" (
    "accountId" UUID NOT NULL,
    "companyId" BIGINT NOT NULL,
    "name" TEXT,
    "readAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KommoCompanyCache_pkey" PRIMARY KEY ("accountId","companyId")
);

-- CreateIndex
CREATE INDEX "KommoCompanyCache_readAt_idx" ON "KommoCompanyCache"("readAt");

-- AddForeignKey
ALTER TABLE "KommoCompanyCache" ADD CONSTRAINT "KommoCompanyCache_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
