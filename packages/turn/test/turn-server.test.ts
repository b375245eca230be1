import { turnServerSuite } from "./turn-server.suite.js";

turnServerSuite(1);
