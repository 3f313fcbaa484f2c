/**
 * (De)serialization of initializers, regularizers and constraints, using only public tfjs APIs.
 *
 * tfjs-layers resolves identifiers such as `'glorotUniform'` with internal helpers it does not
 * export; we resolve them through tfjs-core's class registry, where every stock (and custom)
 * initializer, regularizer and constraint is registered under its class name.
 */
import { serialization } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** A tfjs-layers initializer instance (tfjs-layers does not export its class by name). */
export type Initializer = ReturnType<typeof tfl.initializers.ones>;
/** A tfjs-layers regularizer instance. */
export type Regularizer = ReturnType<typeof tfl.regularizers.l2>;
/** A tfjs-layers constraint instance. */
export type Constraint = ReturnType<typeof tfl.constraints.nonNeg>;

/** Names of the stock tfjs initializers (any registered class name is accepted too). */
export type InitializerIdentifier =
  | 'constant' | 'glorotNormal' | 'glorotUniform' | 'heNormal' | 'heUniform' | 'identity'
  | 'leCunNormal' | 'leCunUniform' | 'ones' | 'orthogonal' | 'randomNormal' | 'randomUniform'
  | 'truncatedNormal' | 'varianceScaling' | 'zeros' | (string & {});
/** Names of the stock tfjs regularizers (any registered class name is accepted too). */
export type RegularizerIdentifier = 'l1l2' | (string & {});
/** Names of the stock tfjs constraints (any registered class name is accepted too). */
export type ConstraintIdentifier = 'maxNorm' | 'minMaxNorm' | 'nonNeg' | 'unitNorm' | (string & {});

/** A serialized object as it appears in a layer config: `{ className, config }`. */
export interface SerializedObject {
  /** The registered class name, e.g. 'GlorotUniform' or 'L1L2'. */
  className: string;
  /** The arguments of its constructor, e.g. `{ seed: 1 }`. */
  config: serialization.ConfigDict;
}

type Kind = 'initializer' | 'regularizer' | 'constraint';

const SPECIAL_CLASS_NAMES: Record<string, string> = { L1l2: 'L1L2' };

function classNameOf(identifier: string): string {
  const camel = identifier.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const name = camel.charAt(0).toUpperCase() + camel.slice(1);
  return SPECIAL_CLASS_NAMES[name] ?? name;
}

function isSerializedObject(value: unknown): value is SerializedObject {
  return typeof value === 'object' && value !== null && typeof (value as SerializedObject).className === 'string';
}

/**
 * Turns an identifier string, a `{ className, config }` dict or an instance into an instance.
 * Throws an Error that names the argument when the identifier is unknown.
 */
export function deserializeObject<T extends serialization.Serializable>(
  value: string | SerializedObject | T,
  kind: Kind,
  argName: string,
): T {
  if (value instanceof serialization.Serializable) return value;
  let className: string;
  let config: serialization.ConfigDict;
  if (typeof value === 'string') {
    className = classNameOf(value);
    config = {};
  } else if (isSerializedObject(value)) {
    className = value.className;
    config = value.config ?? {};
  } else {
    throw new Error(
      `${argName}: expected a ${kind} instance, an identifier string or a { className, config } object, got ${JSON.stringify(value)}`,
    );
  }
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) {
    throw new Error(`${argName}: unknown ${kind} '${typeof value === 'string' ? value : className}'`);
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as T;
}

/** {@link deserializeObject}, with null or undefined (an absent regularizer or constraint) giving null. */
export function deserializeOptional<T extends serialization.Serializable>(
  value: string | SerializedObject | T | null | undefined,
  kind: Kind,
  argName: string,
): T | null {
  return value === null || value === undefined ? null : deserializeObject<T>(value, kind, argName);
}

/**
 * The `{ className, config }` form used in layer configs (null stays null). Undefined config
 * values become null, as they do after a trip through model.json, so a config compares equal to
 * the config of the layer loaded back.
 */
export function serializeObject(value: serialization.Serializable | null): SerializedObject | null {
  if (value === null) return null;
  const config: serialization.ConfigDict = {};
  for (const [key, v] of Object.entries(value.getConfig())) config[key] = v === undefined ? null : v;
  return { className: value.getClassName(), config };
}
