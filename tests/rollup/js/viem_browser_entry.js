// What the browser test's page loads: viem, bundled by esbuild into one IIFE (global viemBundle).
export { createPublicClient, createWalletClient, defineChain, http, parseEther } from "viem";
export { privateKeyToAccount } from "viem/accounts";
