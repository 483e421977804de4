-- CreateTable
CREATE TABLE "InstallCodeSeen" (
    "codeHash" TEXT NOT NULL,
    "seenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InstallCodeSeen_pkey" PRIMARY KEY ("codeHash")
);
