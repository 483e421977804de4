-- Kommo ids are 64-bit, like every other Kommo id column.
ALTER TABLE "DigitalPipelineAction" ALTER COLUMN "leadId" SET DATA TYPE BIGINT,
  ALTER COLUMN "statusId" SET DATA TYPE BIGINT,
  ALTER COLUMN "pipelineId" SET DATA TYPE BIGINT;
