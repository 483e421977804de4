// Where the project is, for processes the harness starts and files it writes.
import path from "node:path";

export const projectRoot = path.resolve(__dirname, "..", "..");
