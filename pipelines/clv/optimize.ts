// Maximum likelihood for positive parameters, on their logarithms inside
// bounds: BFGS where the likelihood has a gradient (the models' fits), and
// Nelder-Mead, restarted from the best point until a restart no longer
// improves it (a simplex can stall on a ridge before the optimum), as the
// derivative-free fallback.

export interface OptimizeResult {
  parameters: number[];
  /** The minimised value (a negative log-likelihood). */
  value: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

export interface OptimizeOptions {
  lower?: number;
  upper?: number;
  maxIterations?: number;
  /** Stop when the simplex's values differ by less than this, relative to the best value. */
  tolerance?: number;
}

/** Keeps a point in log space inside the options' bounds. */
function logSpaceClamp(options: OptimizeOptions): (point: number[]) => number[] {
  const lower = Math.log(options.lower ?? 1e-8);
  const upper = Math.log(options.upper ?? 1e8);
  return (point) => point.map((value) => Math.min(upper, Math.max(lower, value)));
}

/** Minimises `objective` over positive parameters starting at `start`. */
export function minimizePositive(objective: (parameters: number[]) => number, start: number[], options: OptimizeOptions = {}): OptimizeResult {
  const maxIterations = options.maxIterations ?? 20_000;
  const tolerance = options.tolerance ?? 1e-12;
  let evaluations = 0;
  const clamp = logSpaceClamp(options);
  const f = (point: number[]) => {
    evaluations++;
    const value = objective(point.map(Math.exp));
    return Number.isFinite(value) ? value : Infinity;
  };

  let best = clamp(start.map(Math.log));
  let bestValue = f(best);
  let iterations = 0;
  let converged = false;
  for (let restart = 0; restart < 20; restart++) {
    const run = nelderMead(f, best, clamp, maxIterations - iterations, tolerance);
    iterations += run.iterations;
    const improved = run.value < bestValue - tolerance * (1 + Math.abs(bestValue));
    if (run.value <= bestValue) {
      best = run.point;
      bestValue = run.value;
    }
    converged = run.converged;
    if (!improved || !converged || iterations >= maxIterations) break;
  }
  return { parameters: best.map(Math.exp), value: bestValue, iterations, evaluations, converged };
}

/** A function's value and its gradient, one entry per parameter in the parameters' order. */
export interface ValueAndGradient {
  value: number;
  gradient: number[];
}

/** A function to minimise and its gradient, at a point. */
export type ValueWithGradient = (parameters: number[]) => ValueAndGradient;

/**
 * Minimises over positive parameters with the gradient: BFGS on their
 * logarithms (the gradient there is parameter x gradient), a backtracking
 * line search inside the bounds. A few dozen evaluations where Nelder-Mead
 * takes hundreds; when it cannot finish (no descent left before the
 * optimum, a non-finite value), Nelder-Mead goes on from its best point.
 */
export function minimizePositiveWithGradient(objective: ValueWithGradient, start: number[], options: OptimizeOptions = {}): OptimizeResult {
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-12;
  const n = start.length;
  let evaluations = 0;
  const clamp = logSpaceClamp(options);
  const at = (point: number[]) => {
    evaluations++;
    const parameters = point.map(Math.exp);
    const { value, gradient } = objective(parameters);
    const finite = Number.isFinite(value) && gradient.every(Number.isFinite);
    return { value: finite ? value : Infinity, gradient: gradient.map((g, i) => g * parameters[i]!) };
  };
  const dot = (u: number[], v: number[]) => u.reduce((sum, value, i) => sum + value * v[i]!, 0);

  let point = clamp(start.map(Math.log));
  let current = at(point);
  // The inverse Hessian's estimate, from the identity.
  let inverse: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations && Number.isFinite(current.value); iterations++) {
    let direction = inverse.map((row) => -dot(row, current.gradient));
    if (dot(direction, current.gradient) >= 0) {
      inverse = inverse.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
      direction = current.gradient.map((g) => -g);
    }
    // Steps of at most 1 in log space: a parameter times or over e at once.
    let step = Math.min(1, 1 / Math.max(...direction.map(Math.abs)));
    const slope = dot(direction, current.gradient);
    let next: ValueAndGradient | undefined;
    let nextPoint = point;
    for (let tries = 0; tries < 60; tries++, step /= 2) {
      nextPoint = clamp(point.map((value, i) => value + step * direction[i]!));
      const candidate = at(nextPoint);
      if (candidate.value <= current.value + 1e-4 * step * slope) {
        next = candidate;
        break;
      }
    }
    if (!next) break; // no descent left along the direction: done, or stuck
    const s = nextPoint.map((value, i) => value - point[i]!);
    const y = next.gradient.map((g, i) => g - current.gradient[i]!);
    const decrease = current.value - next.value;
    point = nextPoint;
    current = next;
    if (decrease <= tolerance * (1 + Math.abs(current.value)) && Math.max(...s.map(Math.abs)) < 1e-8) {
      converged = true;
      iterations++;
      break;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      // BFGS: H <- (I - rho s y') H (I - rho y s') + rho s s'
      const rho = 1 / sy;
      const hy = inverse.map((row) => dot(row, y));
      const yhy = dot(y, hy);
      inverse = inverse.map((row, i) => row.map((value, j) => value - rho * (hy[i]! * s[j]! + s[i]! * hy[j]!) + (rho * rho * yhy + rho) * s[i]! * s[j]!));
    }
  }
  if (converged) return { parameters: point.map(Math.exp), value: current.value, iterations, evaluations, converged };
  // Finish with the derivative-free method from wherever BFGS got to.
  const polished = minimizePositive((parameters) => objective(parameters).value, point.map(Math.exp), options);
  return { ...polished, iterations: iterations + polished.iterations, evaluations: evaluations + polished.evaluations };
}

function nelderMead(
  f: (point: number[]) => number,
  start: number[],
  clamp: (point: number[]) => number[],
  maxIterations: number,
  tolerance: number,
): { point: number[]; value: number; iterations: number; converged: boolean } {
  const n = start.length;
  // A simplex of steps of 0.5 in log space: each parameter times or over 1.65.
  const simplex: { point: number[]; value: number }[] = [{ point: start, value: f(start) }];
  for (let i = 0; i < n; i++) {
    const point = [...start];
    point[i] = point[i]! + 0.5;
    const clamped = clamp(point);
    simplex.push({ point: clamped, value: f(clamped) });
  }
  const combine = (a: number[], b: number[], weight: number) => clamp(a.map((value, i) => value + weight * (value - b[i]!)));
  let iteration = 0;
  for (; iteration < maxIterations; iteration++) {
    simplex.sort((left, right) => left.value - right.value);
    const spread = simplex[n]!.value - simplex[0]!.value;
    const size = Math.max(...simplex.slice(1).map((vertex) => Math.max(...vertex.point.map((value, i) => Math.abs(value - simplex[0]!.point[i]!)))));
    // Relative: a log-likelihood over a million customers is about 1e7, and
    // doubles resolve it only to about 1e-9 in absolute terms.
    if (spread <= tolerance * (1 + Math.abs(simplex[0]!.value)) && size < 1e-6) return { point: simplex[0]!.point, value: simplex[0]!.value, iterations: iteration, converged: true };
    const centroid = new Array<number>(n).fill(0);
    for (let v = 0; v < n; v++) for (let i = 0; i < n; i++) centroid[i]! += simplex[v]!.point[i]! / n;
    const worst = simplex[n]!;
    const reflected = combine(centroid, worst.point, 1);
    const reflectedValue = f(reflected);
    if (reflectedValue < simplex[0]!.value) {
      const expanded = combine(centroid, worst.point, 2);
      const expandedValue = f(expanded);
      simplex[n] = expandedValue < reflectedValue ? { point: expanded, value: expandedValue } : { point: reflected, value: reflectedValue };
    } else if (reflectedValue < simplex[n - 1]!.value) {
      simplex[n] = { point: reflected, value: reflectedValue };
    } else {
      const outside = reflectedValue < worst.value;
      const contracted = combine(centroid, worst.point, outside ? 0.5 : -0.5);
      const contractedValue = f(contracted);
      if (contractedValue < Math.min(reflectedValue, worst.value)) {
        simplex[n] = { point: contracted, value: contractedValue };
      } else {
        const bestPoint = simplex[0]!.point;
        for (let v = 1; v <= n; v++) {
          const shrunk = clamp(simplex[v]!.point.map((value, i) => bestPoint[i]! + 0.5 * (value - bestPoint[i]!)));
          simplex[v] = { point: shrunk, value: f(shrunk) };
        }
      }
    }
  }
  simplex.sort((left, right) => left.value - right.value);
  return { point: simplex[0]!.point, value: simplex[0]!.value, iterations: iteration, converged: false };
}

/**
 * Asymptotic standard errors of a maximum-likelihood estimate: the inverse of
 * the negative log-likelihood's Hessian (by central differences in log space,
 * where the fit was made), mapped back by the delta method, se(θ) = θ se(ln θ).
 * NaN where the Hessian cannot be inverted or gives a variance that is not
 * positive (an estimate on a bound, a flat direction).
 */
export function standardErrors(objective: (parameters: number[]) => number, estimate: number[]): number[] {
  const n = estimate.length;
  const center = estimate.map(Math.log);
  // Large enough that the differences stand well above rounding in a sum over
  // a million customers, small enough that the quadratic term dominates.
  const step = 1e-3;
  const at = (shifts: [number, number][]) => {
    const point = [...center];
    for (const [i, shift] of shifts) point[i] = point[i]! + shift;
    return objective(point.map(Math.exp));
  };
  const f0 = at([]);
  const hessian = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    hessian[i]![i] = (at([[i, step]]) - 2 * f0 + at([[i, -step]])) / (step * step);
    for (let j = 0; j < i; j++) {
      const value = (at([[i, step], [j, step]]) - at([[i, step], [j, -step]]) - at([[i, -step], [j, step]]) + at([[i, -step], [j, -step]])) / (4 * step * step);
      hessian[i]![j] = value;
      hessian[j]![i] = value;
    }
  }
  const covariance = invert(hessian);
  return estimate.map((value, i) => {
    const variance = covariance?.[i]?.[i];
    return variance !== undefined && variance > 0 ? value * Math.sqrt(variance) : Number.NaN;
  });
}

/** Gauss-Jordan inverse with partial pivoting; undefined when singular. */
function invert(matrix: number[][]): number[][] | undefined {
  const n = matrix.length;
  const work = matrix.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let column = 0; column < n; column++) {
    let pivot = column;
    for (let row = column + 1; row < n; row++) if (Math.abs(work[row]![column]!) > Math.abs(work[pivot]![column]!)) pivot = row;
    if (!(Math.abs(work[pivot]![column]!) > 0)) return undefined;
    [work[column], work[pivot]] = [work[pivot]!, work[column]!];
    const scale = work[column]![column]!;
    work[column] = work[column]!.map((value) => value / scale);
    for (let row = 0; row < n; row++) {
      if (row === column) continue;
      const factor = work[row]![column]!;
      work[row] = work[row]!.map((value, k) => value - factor * work[column]![k]!);
    }
  }
  return work.map((row) => row.slice(n));
}
