"""Score a Spark DataFrame with mapInPandas: each batch goes through the same score_frame as `vaeguard score`.

    import vaeguard.spark
    scored = vaeguard.spark.score(spark.read.parquet("flows/"), "vaeguard-model")
    scored.write.parquet("scored/")

The checkpoint travels once as a broadcast variable; each executor's Python worker rebuilds the model
once and keeps it for every later batch and partition. Needs the `spark` extra (pip install
"vaeguard[spark]") and vaeguard installed on the executors.
"""

from __future__ import annotations

from .remote import ModelLike, as_bundle, guard_for
from .scoring import SCORE_COLUMNS, check_table


def output_schema(schema):
    """The input's Spark schema (minus any old score columns) followed by the four score columns."""
    from pyspark.sql.types import ByteType, DoubleType, StringType, StructField, StructType

    kept = [f for f in schema.fields if f.name not in SCORE_COLUMNS]
    return StructType(kept + [
        StructField("anomaly_score", DoubleType(), False),
        StructField("p_value", DoubleType(), False),
        StructField("is_anomaly", ByteType(), False),
        StructField("top_features", StringType(), True),
    ])


def _flattened(spark_df):
    """Struct columns as a column per field, named with dots, as every other reader names them: a Zeek conn log
    read with spark.read.json nests id.orig_h ... id.resp_p in a struct `id`. A list of records (Suricata 8's
    dns.queries) stays whole, for its member count, and its first record's fields come beside it, as the
    JSON reader gives them (logs.jsonlines). A binary column is text, as the other readers give it: Hive and
    Impala write strings as binary, which Spark reads back as bytes (the other engines' hex for bytes that
    are not UTF-8 is for columns that identify, which no model reads)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, BinaryType, StructType

    def fields(schema, name: str, expr):
        for f in schema.fields:
            full, col = (f"{name}.{f.name}" if name else f.name), (expr[f.name] if expr is not None else F.col("`" + f.name.replace("`", "``") + "`"))
            if isinstance(f.dataType, StructType):
                yield from fields(f.dataType, full, col)
            elif isinstance(f.dataType, ArrayType) and isinstance(f.dataType.elementType, StructType):
                yield full, col
                yield from fields(f.dataType.elementType, full, F.try_element_at(col, F.lit(1)))
            elif isinstance(f.dataType, BinaryType):
                yield full, col.cast("string")
            else:
                yield full, col

    columns = list(fields(spark_df.schema, "", None))
    if [name for name, _ in columns] == spark_df.columns and not any(isinstance(f.dataType, BinaryType) for f in spark_df.schema.fields):
        return spark_df
    return spark_df.select([col.alias(name) for name, col in columns])


def score(spark_df, model: ModelLike, strict: bool = False):
    """Return `spark_df` with anomaly_score, p_value, is_anomaly and top_features appended (lazily); its struct
    columns come out as a column per field."""
    import pandas as pd

    bundle = as_bundle(model)
    guard = guard_for(bundle)  # validate on the driver before any executor works
    spark_df = _flattened(spark_df)
    # The same column check (missing and duplicate names) as every other scoring path, on the names alone.
    # A column the model saw sometimes unset that the frame lacks (spark.read.json of a day no record of which
    # set it) is unset in every row, as `vaeguard score` reads such a log.
    unset = tuple(c for c in guard.preprocessor_.optional_columns if c not in spark_df.columns)
    check_table(guard, pd.DataFrame(columns=spark_df.columns), unset)
    old = [c for c in SCORE_COLUMNS if c in spark_df.columns]
    if old:
        spark_df = spark_df.drop(*old)
    shipped = spark_df.sparkSession.sparkContext.broadcast(bundle)
    # mapInPandas resolves its input's columns by name, and a name holding a dot (a Zeek log's id.orig_h, as
    # pandas writes it to Parquet) reads as a struct's field there: "cannot be resolved". The columns travel
    # under their positions and get their names back in each batch.
    names = list(spark_df.columns)
    schema = output_schema(spark_df.schema)
    spark_df = spark_df.toDF(*[f"_{i}" for i in range(len(names))])

    def score_batches(batches):
        from vaeguard.scoring import score_chunk

        local = guard_for(shipped.value)
        for pdf in batches:
            pdf.columns = names
            yield score_chunk(local, pdf, strict=strict, unset=unset)[0]

    return spark_df.mapInPandas(score_batches, schema)
