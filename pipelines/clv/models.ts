// Buy-till-you-die models fitted by maximum likelihood: BG/NBD (Fader, Hardie
// and Lee 2005), its modified form MBG/NBD (Batislam, Denizel and Filiztekin
// 2007), in which a customer can also drop out right after the first
// purchase, and the Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM
// and CLV"). Likelihoods are summed in log space over groups of identical
// (x, t_x, T) with weights; terms that depend on x alone are computed once
// per distinct x.
import { digamma, hyp2f1, lnGamma } from './special.ts';
import { minimizePositiveWithGradient, standardErrors, type OptimizeResult, type ValueAndGradient } from './optimize.ts';

/** Customers summarised for the models, grouped: identical rows become one with a weight. */
export interface FrequencyGroups {
  /** Repeat purchases in the calibration period. */
  x: Float64Array;
  /** Time from the first to the last purchase. */
  tx: Float64Array;
  /** Time from the first purchase to the end of calibration. */
  T: Float64Array;
  weight: Float64Array;
}

export type FrequencyModel = 'bgnbd' | 'mbgnbd';

export interface FrequencyParameters {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface SpendParameters {
  p: number;
  q: number;
  gamma: number;
}

export interface Fit<Parameters> {
  parameters: Parameters;
  logLikelihood: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Asymptotic standard errors of the parameters (NaN where not defined). */
  standardErrors: Parameters;
}

export class ModelFitError extends Error {
  override name = 'ModelFitError';
}

/** The distinct values of a column and, per group, the index of its value among them. */
function distinctValues(column: Float64Array): { values: number[]; index: Uint32Array } {
  const values = [...new Set(column)].sort((left, right) => left - right);
  const position = new Map(values.map((value, i) => [value, i]));
  const index = new Uint32Array(column.length);
  for (let i = 0; i < column.length; i++) index[i] = position.get(column[i]!)!;
  return { values, index };
}

/**
 * The groups' distinct x, t_x and T: terms that depend on one of them are
 * computed once per distinct value at each evaluation (time in days gives
 * at most a few thousand distinct t_x and T, whatever the number of customers).
 */
export function indexGroups(groups: FrequencyGroups) {
  return { x: distinctValues(groups.x), tx: distinctValues(groups.tx), T: distinctValues(groups.T) };
}

/** The log-likelihood of BG/NBD or MBG/NBD at the given parameters. */
export function frequencyLogLikelihood(
  model: FrequencyModel,
  groups: FrequencyGroups,
  parameters: FrequencyParameters,
  index = indexGroups(groups),
): number {
  return frequencyLikelihoodAndGradient(model, groups, parameters, index).value;
}

/**
 * The BG/NBD or MBG/NBD log-likelihood and its gradient in (r, alpha, a, b).
 * Per group, ln L = A(x) + ln(e^S + e^D) with S = -(r+x) ln(alpha+T) (still
 * alive) and D = ln(a / (b+x-1[+1])) - (r+x) ln(alpha+t_x) (dropped out
 * after the last purchase); the gradient of the second term is the two
 * terms' gradients weighted by their shares of the sum.
 */
export function frequencyLikelihoodAndGradient(
  model: FrequencyModel,
  groups: FrequencyGroups,
  { r, alpha, a, b }: FrequencyParameters,
  index = indexGroups(groups),
): ValueAndGradient {
  const modified = model === 'mbgnbd';
  const extra = modified ? 1 : 0;
  const shared = lnGamma(a + b) - lnGamma(b) - lnGamma(r) + r * Math.log(alpha);
  const sharedGradient = [-digamma(r) + Math.log(alpha), r / alpha, digamma(a + b), digamma(a + b) - digamma(b)];
  const nx = index.x.values.length;
  const xTerm = new Float64Array(nx);
  const xGradient = { r: new Float64Array(nx), a: new Float64Array(nx), b: new Float64Array(nx) };
  const dropTerm = new Float64Array(nx);
  const dropGradientB = new Float64Array(nx);
  for (const [i, x] of index.x.values.entries()) {
    // ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x[+1]) − ln B(a, b)
    xTerm[i] = shared + lnGamma(r + x) + lnGamma(b + x + extra) - lnGamma(a + b + x + extra);
    xGradient.r[i] = digamma(r + x);
    xGradient.a[i] = -digamma(a + b + x + extra);
    xGradient.b[i] = digamma(b + x + extra) - digamma(a + b + x + extra);
    // ln(a / (b + x − 1)) for BG/NBD (only when x > 0), ln(a / (b + x)) for MBG/NBD.
    const denominator = modified ? b + x : b + x - 1;
    const canDrop = modified || x > 0;
    dropTerm[i] = canDrop ? Math.log(a) - Math.log(denominator) : -Infinity;
    dropGradientB[i] = canDrop ? -1 / denominator : 0;
  }
  const logAlphaT = index.T.values.map((T) => Math.log(alpha + T));
  const inverseAlphaT = index.T.values.map((T) => 1 / (alpha + T));
  const logAlphaTx = index.tx.values.map((tx) => Math.log(alpha + tx));
  const inverseAlphaTx = index.tx.values.map((tx) => 1 / (alpha + tx));
  let total = 0;
  let weights = 0;
  let dr = 0;
  let dAlpha = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < groups.x.length; i++) {
    const k = index.x.index[i]!;
    const t = index.T.index[i]!;
    const w = groups.weight[i]!;
    weights += w;
    const rx = r + groups.x[i]!;
    const stays = -rx * logAlphaT[t]!;
    // The share of "dropped out" in e^S + e^D (0 when it cannot have happened).
    let both = stays;
    let dropShare = 0;
    let dropR = 0;
    let dropAlpha = 0;
    if (dropTerm[k] !== -Infinity) {
      const u = index.tx.index[i]!;
      const leaves = dropTerm[k]! - rx * logAlphaTx[u]!;
      const high = stays > leaves ? stays : leaves;
      const ratio = Math.exp((stays > leaves ? leaves : stays) - high);
      both = high + Math.log1p(ratio);
      dropShare = stays > leaves ? ratio / (1 + ratio) : 1 / (1 + ratio);
      dropR = -logAlphaTx[u]!;
      dropAlpha = -rx * inverseAlphaTx[u]!;
    }
    const stayShare = 1 - dropShare;
    total += w * (xTerm[k]! + both);
    dr += w * (xGradient.r[k]! + stayShare * -logAlphaT[t]! + dropShare * dropR);
    dAlpha += w * (stayShare * -rx * inverseAlphaT[t]! + dropShare * dropAlpha);
    da += w * (xGradient.a[k]! + dropShare / a);
    db += w * (xGradient.b[k]! + dropShare * dropGradientB[k]!);
  }
  return {
    value: total,
    gradient: [dr + weights * sharedGradient[0]!, dAlpha + weights * sharedGradient[1]!, da + weights * sharedGradient[2]!, db + weights * sharedGradient[3]!],
  };
}

/** The negative of a log-likelihood and its gradient: what the optimiser minimises. */
function negated(likelihood: (parameters: number[]) => ValueAndGradient): (parameters: number[]) => ValueAndGradient {
  return (parameters) => {
    const { value, gradient } = likelihood(parameters);
    return { value: -value, gradient: gradient.map((g) => -g) };
  };
}

function checkFit<Parameters extends object>(
  result: OptimizeResult,
  objective: (parameters: number[]) => number,
  names: (keyof Parameters)[],
  what: string,
): Fit<Parameters> {
  if (!Number.isFinite(result.value)) throw new ModelFitError(`${what}: the likelihood is not finite at any point tried`);
  if (!result.converged) {
    throw new ModelFitError(`${what}: did not converge in ${result.iterations} iterations (${result.evaluations} evaluations); last log-likelihood ${(-result.value).toFixed(4)}`);
  }
  const named = (values: number[]) => Object.fromEntries(names.map((name, i) => [name, values[i]])) as Parameters;
  return {
    parameters: named(result.parameters),
    logLikelihood: -result.value,
    iterations: result.iterations,
    evaluations: result.evaluations,
    converged: true,
    standardErrors: named(standardErrors(objective, result.parameters)),
  };
}

export function fitFrequency(model: FrequencyModel, groups: FrequencyGroups): Fit<FrequencyParameters> {
  let customers = 0;
  let repeaters = 0;
  for (let i = 0; i < groups.x.length; i++) {
    customers += groups.weight[i]!;
    if (groups.x[i]! > 0) repeaters += groups.weight[i]!;
  }
  if (repeaters < 2) {
    throw new ModelFitError(`${model}: ${repeaters} of ${customers} customers bought more than once; at least 2 repeat buyers are needed to fit the model`);
  }
  const index = indexGroups(groups);
  const negative = negated(([r, alpha, a, b]) => frequencyLikelihoodAndGradient(model, groups, { r: r!, alpha: alpha!, a: a!, b: b! }, index));
  const objective = (parameters: number[]) => negative(parameters).value;
  return checkFit<FrequencyParameters>(minimizePositiveWithGradient(negative, [1, 1, 1, 1]), objective, ['r', 'alpha', 'a', 'b'], model);
}

/** Repeat buyers for the spend model: repeat purchases and their mean value, grouped. */
export interface SpendGroups {
  x: Float64Array;
  meanSpend: Float64Array;
  weight: Float64Array;
}

export function spendLogLikelihood(
  groups: SpendGroups,
  parameters: SpendParameters,
  xs = distinctValues(groups.x),
  logSpend?: Float64Array,
): number {
  return spendLikelihoodAndGradient(groups, parameters, xs, logSpend).value;
}

/** The Gamma-Gamma log-likelihood of the repeat buyers' mean spend, and its gradient in (p, q, gamma). */
export function spendLikelihoodAndGradient(
  groups: SpendGroups,
  { p, q, gamma }: SpendParameters,
  xs = distinctValues(groups.x),
  logSpend?: Float64Array,
): ValueAndGradient {
  const nx = xs.values.length;
  const xTerm = new Float64Array(nx);
  const xGradientP = new Float64Array(nx);
  const xGradientQ = new Float64Array(nx);
  for (const [i, x] of xs.values.entries()) {
    xTerm[i] = lnGamma(p * x + q) - lnGamma(p * x) - lnGamma(q) + q * Math.log(gamma) + p * x * Math.log(x);
    xGradientP[i] = x * (digamma(p * x + q) - digamma(p * x) + Math.log(x));
    xGradientQ[i] = digamma(p * x + q) - digamma(q) + Math.log(gamma);
  }
  let total = 0;
  let dp = 0;
  let dq = 0;
  let dGamma = 0;
  for (let i = 0; i < groups.x.length; i++) {
    const x = groups.x[i]!;
    const m = groups.meanSpend[i]!;
    const w = groups.weight[i]!;
    const k = xs.index[i]!;
    const logM = logSpend ? logSpend[i]! : Math.log(m);
    const logTotal = Math.log(gamma + m * x);
    total += w * (xTerm[k]! + (p * x - 1) * logM - (p * x + q) * logTotal);
    dp += w * (xGradientP[k]! + x * logM - x * logTotal);
    dq += w * (xGradientQ[k]! - logTotal);
    dGamma += w * (q / gamma - (p * x + q) / (gamma + m * x));
  }
  return { value: total, gradient: [dp, dq, dGamma] };
}

export function fitSpend(groups: SpendGroups): Fit<SpendParameters> {
  let buyers = 0;
  for (let i = 0; i < groups.x.length; i++) {
    if (!(groups.meanSpend[i]! > 0)) throw new ModelFitError(`gamma-gamma: a repeat buyer has a non-positive mean spend (${groups.meanSpend[i]}); exclude such customers first`);
    buyers += groups.weight[i]!;
  }
  if (buyers < 2) throw new ModelFitError(`gamma-gamma: ${buyers} repeat buyer(s) with a positive spend; at least 2 are needed`);
  const xs = distinctValues(groups.x);
  const logSpend = groups.meanSpend.map(Math.log);
  const negative = negated(([p, q, gamma]) => spendLikelihoodAndGradient(groups, { p: p!, q: q!, gamma: gamma! }, xs, logSpend));
  const objective = (parameters: number[]) => negative(parameters).value;
  return checkFit<SpendParameters>(minimizePositiveWithGradient(negative, [1, 1, 1]), objective, ['p', 'q', 'gamma'], 'gamma-gamma');
}

/** The probability that a customer with (x, t_x, T) is still alive. */
export function probabilityAlive(model: FrequencyModel, { r, alpha, a, b }: FrequencyParameters, x: number, tx: number, T: number): number {
  if (model === 'bgnbd' && x === 0) return 1;
  const logOdds = Math.log(a) - Math.log(model === 'mbgnbd' ? b + x : b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return 1 / (1 + Math.exp(logOdds));
}

/**
 * Expected purchases in the next `t` time units for a customer with (x, t_x, T).
 * The published form has ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z); by
 * Euler's transformation that is (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z),
 * whose series converges in a few terms even for frequent buyers (the
 * first form needs thousands when x is in the hundreds).
 */
export function expectedPurchases(model: FrequencyModel, parameters: FrequencyParameters, t: number, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = parameters;
  const modified = model === 'mbgnbd' ? 1 : 0;
  const head = (a + b + x - 1 + modified) / (a - 1);
  const z = t / (alpha + T + t);
  const tail = Math.exp((a - 1) * Math.log1p(-z)) * hyp2f1(a + b - 1 + modified - r, a - 1, a + b + x - 1 + modified, z);
  return head * (1 - tail) * probabilityAlive(model, parameters, x, tx, T);
}

/** The expected mean value of a customer's future purchases (Gamma-Gamma; needs q > 1). */
export function expectedSpend({ p, q, gamma }: SpendParameters, x: number, meanSpend: number): number {
  if (q <= 1) throw new ModelFitError(`gamma-gamma: q = ${q} <= 1, so the expected spend is infinite`);
  if (x === 0) return (p * gamma) / (q - 1);
  return (p * (gamma + x * meanSpend)) / (p * x + q - 1);
}
