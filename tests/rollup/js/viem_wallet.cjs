// An unmodified viem wallet against an l2kit node (the chain defined from its
// wallet_addEthereumChain parameters): send ETH, an ERC-20 transfer, read balances, receipts
// and the error a bad nonce gets. Prints one JSON object. Usage: node viem_wallet.cjs URL KEY TOKEN TO
const { createPublicClient, createWalletClient, defineChain, http, parseAbi, parseEther } = require("viem");
const { privateKeyToAccount } = require("viem/accounts");

const [url, key, token, to] = process.argv.slice(2);
const abi = parseAbi([
  "function transfer(address to, uint256 amount) returns (bool)",
  "function balanceOf(address) view returns (uint256)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
]);

async function main() {
  const probe = createPublicClient({ transport: http(url) });
  const id = await probe.getChainId();
  const chain = defineChain({
    id, name: "l2kit devnet", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  const pub = createPublicClient({ chain, transport: http(url), pollingInterval: 100 });
  const account = privateKeyToAccount(key);
  const wal = createWalletClient({ account, chain, transport: http(url) });
  const hash = await wal.sendTransaction({ to, value: parseEther("0.002") });
  const rcpt = await pub.waitForTransactionReceipt({ hash, timeout: 30000 });
  const thash = await wal.writeContract({ address: token, abi, functionName: "transfer", args: [to, 11n] });
  const trcpt = await pub.waitForTransactionReceipt({ hash: thash, timeout: 30000 });
  const logs = await pub.getContractEvents({ address: token, abi, eventName: "Transfer", fromBlock: trcpt.blockNumber, toBlock: trcpt.blockNumber });
  let nonceError = null;
  try {
    await wal.sendTransaction({ to, value: 1n, nonce: 0 });
  } catch (e) {
    const cause = typeof e.walk === "function" ? e.walk((x) => x && x.name === "NonceTooLowError") : null;
    nonceError = (cause ? cause.name : e.name) + ": " + (e.shortMessage || e.message).split("\n")[0];
  }
  const tx = await pub.getTransaction({ hash });
  const out = {
    chainId: id,
    from: account.address,
    ethHash: hash,
    ethStatus: rcpt.status,
    ethGasUsed: rcpt.gasUsed.toString(),
    ethPrice: rcpt.effectiveGasPrice.toString(),
    txType: tx.type,
    txValue: tx.value.toString(),
    toBalance: (await pub.getBalance({ address: to })).toString(),
    tokenHash: thash,
    tokenStatus: trcpt.status,
    transferLogs: logs.map((l) => [l.args.from, l.args.to, l.args.value.toString(), l.transactionHash]),
    tokenBalanceTo: (await pub.readContract({ address: token, abi, functionName: "balanceOf", args: [to] })).toString(),
    block: Number(await pub.getBlockNumber()),
    nonceError,
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
