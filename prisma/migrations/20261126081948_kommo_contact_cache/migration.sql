-- CreateTable
CREATE TABLE "KommoContactCache" (
    "accountId" UUID NOT NULL,
    "contactId" INTEGER NOT NULL,
    "snapshot" JSONB NOT NULL,
    "readAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KommoContactCache_pkey" PRIMARY KEY ("accountId","contactId")
);

-- CreateIndex
CREATE INDEX "KommoContactCache_readAt_idx" ON "KommoContactCache"("readAt");

-- AddForeignKey
ALTER TABLE "KommoContactCache" ADD CONSTRAINT "KommoContactCache_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
