// An unmodified ethers v6 wallet against an l2kit node: send ETH, an ERC-20 transfer, read
// balances and receipts. Prints one JSON object. Usage: node ethers_wallet.cjs URL KEY TOKEN TO
const { JsonRpcProvider, Wallet, Contract, parseEther } = require("ethers");

const [url, key, token, to] = process.argv.slice(2);
const ERC20 = [
  "function transfer(address to, uint256 amount) returns (bool)",
  "function balanceOf(address) view returns (uint256)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
];

async function main() {
  // cacheTimeout -1: ethers caches identical requests for 250 ms by default, so a second send
  // within 250 ms of the first would reuse its pending nonce (an L2 that seals in a few ms).
  const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
  if (process.env.DEBUG_RPC) provider.on("debug", (e) => console.error(JSON.stringify(e, (k, v) => typeof v === "bigint" ? v.toString() : v).slice(0, 600)));
  const wallet = new Wallet(key, provider);
  const net = await provider.getNetwork();
  const before = await provider.getBalance(wallet.address);
  const tx = await wallet.sendTransaction({ to, value: parseEther("0.001") });
  const rcpt = await tx.wait(1, 30000);
  const erc = new Contract(token, ERC20, wallet);
  const ttx = await erc.transfer(to, 7n);
  const trcpt = await ttx.wait(1, 30000);
  const ev = trcpt.logs.map((l) => erc.interface.parseLog(l)).find((e) => e && e.name === "Transfer");
  const fee = await provider.getFeeData();
  const out = {
    chainId: net.chainId.toString(),
    from: wallet.address,
    ethHash: tx.hash,
    ethStatus: rcpt.status,
    ethGasUsed: rcpt.gasUsed.toString(),
    ethPrice: rcpt.gasPrice.toString(),
    balanceBefore: before.toString(),
    balanceAfter: (await provider.getBalance(wallet.address)).toString(),
    toBalance: (await provider.getBalance(to)).toString(),
    tokenHash: ttx.hash,
    tokenStatus: trcpt.status,
    tokenGasUsed: trcpt.gasUsed.toString(),
    transferLog: ev ? [ev.args[0], ev.args[1], ev.args[2].toString()] : null,
    tokenBalanceTo: (await erc.balanceOf(to)).toString(),
    symbol: await erc.symbol(),
    decimals: Number(await erc.decimals()),
    nonce: await provider.getTransactionCount(wallet.address, "latest"),
    maxFeePerGas: fee.maxFeePerGas.toString(),
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
