-- CreateTable
CREATE TABLE "ConsentStatusField" (
    "accountId" UUID NOT NULL,
    "fieldId" BIGINT NOT NULL,
    "enumIds" JSONB NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ConsentStatusField_pkey" PRIMARY KEY ("accountId")
);

-- CreateTable
CREATE TABLE "ConsentContact" (
    "id" UUID NOT NULL,
    "accountId" UUID NOT NULL,
    "contactId" BIGINT NOT NULL,
    "email" TEXT,
    "optInOn" BOOLEAN,
    "optInOffPending" BOOLEAN NOT NULL DEFAULT false,
    "status" TEXT,
    "statusAt" TIMESTAMPTZ(3),
    "canReceiveEmail" BOOLEAN,
    "statusWritten" TEXT,
    "subscribedAt" TIMESTAMPTZ(3),
    "unsubscribedAt" TIMESTAMPTZ(3),
    "writeError" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ConsentContact_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ConsentContact_accountId_email_idx" ON "ConsentContact"("accountId", "email");

-- CreateIndex
CREATE UNIQUE INDEX "ConsentContact_accountId_contactId_key" ON "ConsentContact"("accountId", "contactId");

-- AddForeignKey
ALTER TABLE "ConsentStatusField" ADD CONSTRAINT "ConsentStatusField_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ConsentContact" ADD CONSTRAINT "ConsentContact_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
