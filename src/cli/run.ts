/** The `bayests` executable's entry (bin/bayests.js imports it): runs `main` on process.argv and exits with its status. */
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
