-- CreateEnum
CREATE TYPE "DashboardSignIn" AS ENUM ('kommo', 'widget');

-- CreateTable
CREATE TABLE "DashboardSession" (
    "tokenHash" TEXT NOT NULL,
    "kommoAccountId" BIGINT NOT NULL,
    "kommoUserId" BIGINT NOT NULL,
    "via" "DashboardSignIn" NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "isAdmin" BOOLEAN NOT NULL,
    "rightsCheckedAt" TIMESTAMPTZ(3) NOT NULL,
    "entryTicketId" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "endedAt" TIMESTAMPTZ(3),

    CONSTRAINT "DashboardSession_pkey" PRIMARY KEY ("tokenHash")
);

-- CreateIndex
CREATE UNIQUE INDEX "DashboardSession_entryTicketId_key" ON "DashboardSession"("entryTicketId");

-- CreateIndex
CREATE INDEX "DashboardSession_expiresAt_idx" ON "DashboardSession"("expiresAt");
